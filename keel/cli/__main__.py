"""`python -m keel.cli`, the same as the `keel` console script."""

from keel.cli import main

if __name__ == "__main__":
    main()
