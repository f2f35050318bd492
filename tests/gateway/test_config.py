"""keel.toml: the contract shape loads, every mistake is one ConfigError naming its key, secrets stay out of sight."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from keel.errors import ConfigError, UsageError
from keel.gateway.config import (
    ANTHROPIC_BASE_URL,
    GatewayConfig,
    ModelConfig,
    ProviderConfig,
    is_pinned,
    key_path,
    load_config,
)

# The shape tests outside this repo write, verbatim.
CONTRACT = """\
[providers.main]                # kind: openai | anthropic | scripted
kind = "openai"
base_url = "http://127.0.0.1:8001/v1"
api_key_env = "MAIN_API_KEY"
[models."gpt-4o-2024-08-06"]
provider = "main"
input_usd_per_mtok = 2.5
output_usd_per_mtok = 10.0
[routes.triage]
primary = "gpt-4o-2024-08-06"
fallbacks = ["claude-3-5-sonnet-20241022"]
[budgets]
run_usd = 0.50
org_monthly_usd = 100.0
"""

# The contract's route falls back to a model it does not define; this completes it.
CLAUDE = """
[providers.claude]
kind = "anthropic"
api_key_file = "secrets/anthropic.key"
[models."claude-3-5-sonnet-20241022"]
provider = "claude"
input_usd_per_mtok = 3.0
output_usd_per_mtok = 15.0
cached_input_usd_per_mtok = 0.3
"""

# A recognisable fake secret: it must never show up anywhere but api_key()'s return value.
SECRET = "sk-FAKE-keel-test-7f3a9c-DO-NOT-LEAK"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEL_CONFIG", raising=False)
    monkeypatch.delenv("MAIN_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)


def write(directory: Path, text: str, name: str = "keel.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path: Path, text: str) -> GatewayConfig:
    config = load_config(write(tmp_path / "conf", text))
    assert config is not None
    return config


def error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path / "conf", text))
    return caught.value


def assert_clean(err: ConfigError) -> None:
    """One error of Keel's own: no pydantic wording, no chained pydantic error to print."""
    text = str(err)
    for noise in ("pydantic", "For further information", "input_value", "Value error", "type="):
        assert noise not in text
    assert err.__cause__ is None
    assert err.__context__ is None or err.__suppress_context__


# -- the contract ------------------------------------------------------------------------------


def test_the_contract_example_loads(tmp_path: Path) -> None:
    config = load(tmp_path, CONTRACT + CLAUDE)

    main = config.providers["main"]
    assert (main.name, main.kind, main.base_url, main.api_key_env) == (
        "main",
        "openai",
        "http://127.0.0.1:8001/v1",
        "MAIN_API_KEY",
    )
    assert main.timeout_s == 60.0
    assert main.is_remote is False  # loopback
    claude = config.providers["claude"]
    assert claude.base_url == ANTHROPIC_BASE_URL
    assert claude.is_remote is True
    assert claude.api_key_file == tmp_path / "conf" / "secrets" / "anthropic.key"

    gpt = config.models["gpt-4o-2024-08-06"]
    assert (gpt.provider, gpt.input_usd_per_mtok, gpt.output_usd_per_mtok) == ("main", 2.5, 10.0)
    assert gpt.cached_input_usd_per_mtok is None and gpt.allow_alias is False

    route = config.routes["triage"]
    assert route.primary == "gpt-4o-2024-08-06"
    assert route.fallbacks == ("claude-3-5-sonnet-20241022",)
    assert route.models == ("gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022")
    assert route.pii == "any"

    assert config.budgets.run_usd == 0.5
    assert config.budgets.org_monthly_usd == 100.0
    assert config.budgets.run_tokens is None and config.budgets.tags == {}
    assert config.source == tmp_path / "conf" / "keel.toml"


def test_the_contract_alone_names_its_undefined_fallback(tmp_path: Path) -> None:
    err = error(tmp_path, CONTRACT)
    assert err.message.startswith('routes.triage.fallbacks[0]: unknown model "claude-3-5-sonnet-20241022"')
    assert err.details["key"] == "routes.triage.fallbacks[0]"


def test_an_empty_file_is_an_empty_gateway(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert (config.providers, config.models, config.routes) == ({}, {}, {})
    assert config.budgets.run_usd is None


def test_every_part_of_the_budgets_table(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        [budgets]
        run_usd = 1
        run_tokens = 50000
        workflow_version_max_tokens = 20000
        user_daily_usd = 5.0
        org_monthly_usd = 100.0
        [budgets.tags.support]
        usd = 10.0
        period = "day"
        [budgets.tags."tool:search"]
        tokens = 100000
        period = "month"
        """,
    )
    budgets = config.budgets
    assert budgets.run_usd == 1.0 and isinstance(budgets.run_usd, float)
    assert (budgets.run_tokens, budgets.workflow_version_max_tokens, budgets.user_daily_usd) == (50000, 20000, 5.0)
    assert (budgets.tags["support"].usd, budgets.tags["support"].tokens, budgets.tags["support"].period) == (
        10.0,
        None,
        "day",
    )
    assert budgets.tags["tool:search"].tokens == 100000


def test_the_configuration_is_frozen(tmp_path: Path) -> None:
    config = load(tmp_path, CONTRACT + CLAUDE)
    with pytest.raises(Exception, match="frozen"):
        config.models["gpt-4o-2024-08-06"].input_usd_per_mtok = 0.0


# -- errors name the key -----------------------------------------------------------------------

OPENAI = """
[providers.main]
kind = "openai"
base_url = "http://127.0.0.1:8001/v1"
"""
PRICED = (
    OPENAI
    + """
[models."gpt-4o-2024-08-06"]
provider = "main"
input_usd_per_mtok = 2.5
output_usd_per_mtok = 10.0
"""
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[gateway]\nx = 1\n", "gateway: unknown key"),
        (OPENAI + "colour = 'blue'\n", "providers.main.colour: unknown key"),
        (PRICED + "tier = 2\n", "models.gpt-4o-2024-08-06.tier: unknown key"),
        (PRICED + "[routes.t]\nprimary = 'gpt-4o-2024-08-06'\nretries = 3\n", "routes.t.retries: unknown key"),
        ("[budgets]\nrun_dollars = 1.0\n", "budgets.run_dollars: unknown key"),
        ("[budgets.tags.x]\nusd = 1.0\nperiod = 'day'\nhard = true\n", "budgets.tags.x.hard: unknown key"),
        ("[providers.main]\nbase_url = 'http://127.0.0.1:1'\n", "providers.main.kind: required"),
        ("[providers.main]\nkind = 'gemini'\n", "providers.main.kind: must be 'openai', 'anthropic' or 'scripted'"),
        ("[providers.main]\nkind = 'openai'\n", "providers.main.base_url: required for an openai provider"),
        (OPENAI.replace("http://127.0.0.1:8001/v1", "127.0.0.1:8001"), "providers.main.base_url: must be an http"),
        ("[providers.s]\nkind = 'scripted'\nbase_url = 'http://127.0.0.1:1'\n", "providers.s.base_url: not allowed"),
        ("[providers.s]\nkind = 'scripted'\napi_key_env = 'K'\n", "providers.s.api_key_env: not allowed"),
        (OPENAI + "fixtures = 'f.json'\n", "providers.main.fixtures: only a scripted provider takes fixtures"),
        (OPENAI + "timeout_s = 0\n", "providers.main.timeout_s: must be greater than 0"),
        (OPENAI + "timeout_s = '30'\n", "providers.main.timeout_s: must be a number"),
        (OPENAI + "remote = 'no'\n", "providers.main.remote: must be true or false"),
        (
            OPENAI + "api_key_env = 'K'\napi_key_file = 'k.txt'\n",
            "providers.main.api_key_file: give either api_key_env or api_key_file, not both",
        ),
        (
            OPENAI + "[models.'gpt-4o-2024-08-06']\nprovider = 'main'\noutput_usd_per_mtok = 10.0\n",
            "models.gpt-4o-2024-08-06.input_usd_per_mtok: required: every model needs a price",
        ),
        (
            OPENAI + "[models.'gpt-4o-2024-08-06']\nprovider = 'main'\ninput_usd_per_mtok = 1.0\n",
            "models.gpt-4o-2024-08-06.output_usd_per_mtok: required",
        ),
        (
            PRICED.replace("input_usd_per_mtok = 2.5", "input_usd_per_mtok = -1"),
            "models.gpt-4o-2024-08-06.input_usd_per_mtok: must be greater than or equal to 0",
        ),
        (PRICED + "max_output_tokens = 0\n", "models.gpt-4o-2024-08-06.max_output_tokens: must be greater than 0"),
        (
            PRICED.replace('provider = "main"', 'provider = "nope"'),
            'models.gpt-4o-2024-08-06.provider: unknown provider "nope"',
        ),
        (
            OPENAI + "[models.'llama3.1:8b']\nprovider = 'x'\ninput_usd_per_mtok = 0.0\noutput_usd_per_mtok = 0.0\n",
            'models."llama3.1:8b".provider: unknown provider "x"',
        ),
        (PRICED + "[routes.triage]\nprimary = 'gpt-x'\n", 'routes.triage.primary: unknown model "gpt-x"'),
        (PRICED + "[routes.triage]\nfallbacks = []\n", "routes.triage.primary: required"),
        (
            PRICED + "[routes.triage]\nprimary = 'gpt-4o-2024-08-06'\nfallbacks = ['gpt-4o-2024-08-06']\n",
            'routes.triage.fallbacks[0]: "gpt-4o-2024-08-06" is the primary',
        ),
        (
            PRICED
            + "[models.'gpt-4o-2024-11-20']\nprovider = 'main'\ninput_usd_per_mtok = 2.5\noutput_usd_per_mtok = 10.0\n"
            + "[routes.t]\nprimary = 'gpt-4o-2024-08-06'\nfallbacks = ['gpt-4o-2024-11-20', 'gpt-4o-2024-11-20']\n",
            'routes.t.fallbacks[1]: "gpt-4o-2024-11-20" is listed twice',
        ),
        (PRICED + "[routes.t]\nprimary = 'gpt-4o-2024-08-06'\nfallbacks = 'x'\n", "routes.t.fallbacks: must be a list"),
        (
            PRICED + "[routes.t]\nprimary = 'gpt-4o-2024-08-06'\npii = 'never'\n",
            "routes.t.pii: must be 'any' or 'local-only'",
        ),
        (
            PRICED + "[routes.t]\nprimary = 'gpt-4o-2024-08-06'\nmax_cost_usd = 0\n",
            "routes.t.max_cost_usd: must be greater than 0",
        ),
        ("[budgets]\nrun_usd = '0.5'\n", "budgets.run_usd: must be a number"),
        ("[budgets]\nrun_usd = 0\n", "budgets.run_usd: must be greater than 0"),
        ("[budgets]\nrun_tokens = 1.5\n", "budgets.run_tokens: must be an integer"),
        (
            "[budgets]\nworkflow_version_max_tokens = -5\n",
            "budgets.workflow_version_max_tokens: must be greater than 0",
        ),
        ("[budgets]\nuser_daily_usd = -1.0\n", "budgets.user_daily_usd: must be greater than 0"),
        ("[budgets.tags.x]\nusd = 1.0\nperiod = 'week'\n", "budgets.tags.x.period: must be 'run', 'day' or 'month'"),
        ("[budgets.tags.x]\nusd = 1.0\n", "budgets.tags.x.period: required"),
        ("[budgets.tags.x]\nperiod = 'run'\n", "budgets.tags.x: a tag budget needs usd, tokens or both"),
        ("providers = 3\n", "providers: must be a table"),
    ],
)
def test_each_mistake_names_its_key(tmp_path: Path, text: str, expected: str) -> None:
    err = error(tmp_path, text)
    assert err.message.startswith(expected), err.message
    assert err.details["key"] == expected.split(": ", 1)[0]
    assert_clean(err)


def test_all_problems_are_listed_in_one_error_keyed_by_the_first(tmp_path: Path) -> None:
    err = error(
        tmp_path,
        """
        [providers.main]
        kind = "openai"
        [models."gpt-4o-2024-08-06"]
        provider = "main"
        [budgets]
        run_usd = -1.0
        """,
    )
    assert err.details["problems"] == [
        "providers.main.base_url: required for an openai provider (e.g. https://api.openai.com/v1)",
        "models.gpt-4o-2024-08-06.input_usd_per_mtok: required: every model needs a price "
        "(a model with no price is never a free call)",
        "models.gpt-4o-2024-08-06.output_usd_per_mtok: required: every model needs a price "
        "(a model with no price is never a free call)",
        "budgets.run_usd: must be greater than 0",
    ]
    assert err.details["key"] == "providers.main.base_url"
    assert err.message.startswith("4 problems in the gateway configuration (in ")
    for problem in err.details["problems"]:
        assert problem in err.message
    assert_clean(err)


def test_cross_reference_problems_are_all_listed(tmp_path: Path) -> None:
    err = error(
        tmp_path,
        PRICED
        + """
        [models."gpt-4o"]
        provider = "other"
        input_usd_per_mtok = 2.5
        output_usd_per_mtok = 10.0
        [routes.triage]
        primary = "gpt-4o-2024-08-06"
        fallbacks = ["claude-x", "gpt-4o"]
        """,
    )
    assert err.details["problems"] == [
        'models.gpt-4o: "gpt-4o" is a floating alias: use a pinned version (a date stamp such as gpt-4o-2024-08-06, '
        "or a version tag such as name:8b) or set allow_alias = true",
        'models.gpt-4o.provider: unknown provider "other"',
        'routes.triage.fallbacks[0]: unknown model "claude-x"',
    ]
    assert err.details["key"] == "models.gpt-4o"


def test_gateway_config_built_in_code_checks_references_too() -> None:
    with pytest.raises(ConfigError, match=r'routes\.t\.primary: unknown model "m-2024-01-01"'):
        GatewayConfig.model_validate({"routes": {"t": {"primary": "m-2024-01-01"}}})


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("routes", "triage", "fallbacks", 0), "routes.triage.fallbacks[0]"),
        (("models", "llama3.1:8b", "provider"), 'models."llama3.1:8b".provider'),
        (("budgets", "tags", 'say "hi"'), 'budgets.tags."say \\"hi\\""'),
    ],
)
def test_key_paths_read_as_toml(loc: tuple[str | int, ...], expected: str) -> None:
    assert key_path(loc) == expected


# -- secrets -----------------------------------------------------------------------------------


def test_a_literal_api_key_is_refused_without_repeating_it(tmp_path: Path) -> None:
    err = error(tmp_path, OPENAI + f'api_key = "{SECRET}"\n')
    assert err.message.startswith("providers.main.api_key: a literal API key is not allowed")
    assert "api_key_env" in err.message and "api_key_file" in err.message
    assert err.details["key"] == "providers.main.api_key"
    assert SECRET not in f"{err} {err!r} {err.details}"
    assert_clean(err)


def test_a_key_pasted_into_api_key_env_is_not_repeated(tmp_path: Path) -> None:
    err = error(tmp_path, OPENAI + f'api_key_env = "{SECRET}"\n')
    assert err.message.startswith("providers.main.api_key_env: must be the name of an environment variable")
    assert SECRET not in f"{err} {err!r} {err.details}"


def test_env_key_is_read_when_asked_and_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(tmp_path, CONTRACT + CLAUDE)  # loads without the variable: it is read lazily
    main = config.providers["main"]

    with pytest.raises(ConfigError) as caught:
        main.api_key()
    assert caught.value.message == "providers.main.api_key_env: environment variable MAIN_API_KEY is not set or empty"
    assert caught.value.details["key"] == "providers.main.api_key_env"

    monkeypatch.setenv("MAIN_API_KEY", SECRET)
    assert main.api_key() == SECRET
    for shown in (repr(config), str(config), repr(main), str(main), config.model_dump_json(), str(config.model_dump())):
        assert SECRET not in shown
    monkeypatch.setenv("MAIN_API_KEY", "sk-rotated")
    assert main.api_key() == "sk-rotated"  # read again on each call, so a rotated key is picked up


def test_file_key_resolves_against_the_config_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(tmp_path, CONTRACT + CLAUDE)
    claude = config.providers["claude"]
    key_file = tmp_path / "conf" / "secrets" / "anthropic.key"

    with pytest.raises(ConfigError) as caught:
        claude.api_key()
    assert caught.value.message.startswith("providers.claude.api_key_file: cannot read ")
    assert "anthropic.key" in caught.value.message
    assert caught.value.details["key"] == "providers.claude.api_key_file"

    key_file.parent.mkdir()
    key_file.write_text(SECRET + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the path is the config file's, not the working directory's
    assert claude.api_key() == SECRET
    for shown in (repr(config), str(config), repr(claude), config.model_dump_json()):
        assert SECRET not in shown

    key_file.write_text("  \n")
    with pytest.raises(ConfigError, match="providers.claude.api_key_file: .* is empty"):
        claude.api_key()


def test_a_key_file_that_is_not_text_is_not_quoted(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "k.bin").write_bytes(b"\xff\xfe" + SECRET.encode())
    config = load(tmp_path, OPENAI + "api_key_file = 'k.bin'\n")
    with pytest.raises(ConfigError) as caught:
        config.providers["main"].api_key()
    assert "is not UTF-8 text" in caught.value.message
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_provider_without_a_key_returns_none(tmp_path: Path) -> None:
    assert load(tmp_path, OPENAI).providers["main"].api_key() is None


def test_scripted_fixtures_resolve_against_the_config_directory(tmp_path: Path) -> None:
    config = load(tmp_path, "[providers.offline]\nkind = 'scripted'\nfixtures = 'fixtures/triage.json'\n")
    offline = config.providers["offline"]
    assert offline.fixtures == tmp_path / "conf" / "fixtures" / "triage.json"
    assert offline.base_url is None and offline.is_remote is False


# -- pinned models -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "gpt-4o-2024-08-06",
        "claude-3-5-sonnet-20241022",
        "llama3.1:8b-instruct-q4_K_M",
        "claude-3-5-sonnet-v2@20241022",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "ft:gpt-4o-2024-08-06:acme::abc123",
        "mistral@v0.3",
    ],
)
def test_pinned_names(name: str) -> None:
    assert is_pinned(name)


@pytest.mark.parametrize(
    "name",
    [
        "gpt-4o",
        "claude-3-5-sonnet-latest",
        "llama3",
        "llama3:latest",
        "mistral@latest",
        "llama3:",  # an empty tag is no version
        "gpt-4o-2024-08-06-latest",  # -latest wins over the date
        "gpt-4o-2024-08-06:latest",
        "gpt-4-0613",  # a month-day snapshot carries no year: not a date stamp under this rule
        "model-12345678",  # eight digits that are not a date
        "model-2024-13-40",
    ],
)
def test_alias_names(name: str) -> None:
    assert not is_pinned(name)


def test_a_floating_alias_needs_allow_alias(tmp_path: Path) -> None:
    alias = (
        OPENAI
        + "[models.'claude-3-5-sonnet-latest']\nprovider = 'main'\ninput_usd_per_mtok = 3.0\noutput_usd_per_mtok = 15.0\n"
    )
    err = error(tmp_path, alias)
    assert err.message.startswith('models.claude-3-5-sonnet-latest: "claude-3-5-sonnet-latest" is a floating alias')
    assert err.details["key"] == "models.claude-3-5-sonnet-latest"

    config = load(tmp_path, alias + "allow_alias = true\n")
    assert config.models["claude-3-5-sonnet-latest"].allow_alias is True


# -- local-only routes -------------------------------------------------------------------------


def pii_config(provider: str, fallback_provider: str | None = None) -> str:
    text = "[providers.p]\n" + provider + "\n"
    text += "[models.'m-2024-01-01']\nprovider = 'p'\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 1.0\n"
    fallbacks = "[]"
    if fallback_provider is not None:
        text += "[providers.q]\n" + fallback_provider + "\n"
        text += "[models.'n-2024-01-01']\nprovider = 'q'\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 1.0\n"
        fallbacks = "['n-2024-01-01']"
    return text + f"[routes.private]\nprimary = 'm-2024-01-01'\nfallbacks = {fallbacks}\npii = 'local-only'\n"


@pytest.mark.parametrize(
    "provider",
    [
        "kind = 'openai'\nbase_url = 'http://127.0.0.1:8001/v1'",
        "kind = 'openai'\nbase_url = 'http://127.3.2.1:11434/v1'",
        "kind = 'openai'\nbase_url = 'http://[::1]:8000/v1'",
        "kind = 'openai'\nbase_url = 'http://localhost:11434/v1'",
        "kind = 'anthropic'\nbase_url = 'http://LOCALHOST:9000'",
        "kind = 'scripted'",
        "kind = 'openai'\nbase_url = 'https://llm.internal.example/v1'\nremote = false",
    ],
)
def test_local_only_routes_accept_local_providers(tmp_path: Path, provider: str) -> None:
    config = load(tmp_path, pii_config(provider))
    assert config.routes["private"].pii == "local-only"
    assert config.providers["p"].is_remote is False


@pytest.mark.parametrize(
    "provider",
    [
        "kind = 'openai'\nbase_url = 'https://api.openai.com/v1'",
        "kind = 'anthropic'",  # the default base_url is Anthropic's API
        "kind = 'openai'\nbase_url = 'http://10.0.0.5:8000/v1'",  # private, but another machine
        "kind = 'openai'\nbase_url = 'http://127.0.0.1.nip.io/v1'",  # a name that merely looks like loopback
        "kind = 'openai'\nbase_url = 'http://127.0.0.1:8001/v1'\nremote = true",
        "kind = 'scripted'\nremote = true",
    ],
)
def test_local_only_routes_refuse_remote_providers(tmp_path: Path, provider: str) -> None:
    err = error(tmp_path, pii_config(provider))
    assert err.message.startswith(
        'routes.private.primary: model "m-2024-01-01" is served by remote provider "p", but the route is pii = "local-only"'
    )
    assert err.details["key"] == "routes.private.primary"


def test_a_remote_fallback_is_named_by_its_index(tmp_path: Path) -> None:
    err = error(tmp_path, pii_config("kind = 'scripted'", "kind = 'anthropic'"))
    assert err.message.startswith('routes.private.fallbacks[0]: model "n-2024-01-01" is served by remote provider "q"')


def test_remote_providers_are_fine_on_ordinary_routes(tmp_path: Path) -> None:
    config = load(tmp_path, pii_config("kind = 'anthropic'").replace("pii = 'local-only'", ""))
    assert config.providers["p"].is_remote is True


# -- where the file is found -------------------------------------------------------------------

SCRIPTED = "[providers.{name}]\nkind = 'scripted'\n"


def test_no_file_at_the_default_location_means_unconfigured(tmp_path: Path) -> None:
    assert load_config() is None


def test_the_working_directory_file_is_the_default(tmp_path: Path) -> None:
    write(tmp_path, SCRIPTED.format(name="cwd"))
    config = load_config()
    assert config is not None and list(config.providers) == ["cwd"]


def test_keel_config_beats_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, SCRIPTED.format(name="cwd"))
    monkeypatch.setenv("KEEL_CONFIG", str(write(tmp_path / "env", SCRIPTED.format(name="env"), "gateway.toml")))
    config = load_config()
    assert config is not None and list(config.providers) == ["env"]


def test_an_explicit_path_beats_keel_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_CONFIG", str(write(tmp_path / "env", SCRIPTED.format(name="env"))))
    explicit = write(tmp_path / "explicit", SCRIPTED.format(name="explicit"))
    config = load_config(str(explicit))
    assert config is not None and list(config.providers) == ["explicit"]


def test_a_missing_keel_config_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, SCRIPTED.format(name="cwd"))  # not a silent fallback: KEEL_CONFIG asked for another file
    monkeypatch.setenv("KEEL_CONFIG", "nowhere/keel.toml")
    with pytest.raises(ConfigError, match=r"keel\.toml does not exist \(from KEEL_CONFIG\)") as caught:
        load_config()
    assert caught.value.details["key"] == "KEEL_CONFIG"


def test_a_missing_explicit_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.toml does not exist"):
        load_config(tmp_path / "missing.toml")


def test_a_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    err = error(tmp_path, '[providers.main]\nkind = "openai"\nbase_url = \n')
    assert "TOML syntax error at line 3" in err.message
    assert err.details["line"] == 3
    assert_clean(err)


# -- prices ------------------------------------------------------------------------------------


def test_cost_usd_arithmetic() -> None:
    model = ModelConfig(provider="p", input_usd_per_mtok=2.5, output_usd_per_mtok=10.0, cached_input_usd_per_mtok=1.25)
    assert model.cost_usd(0, 0) == 0.0
    assert model.cost_usd(1_000_000, 0) == pytest.approx(2.5)
    assert model.cost_usd(1000, 500) == pytest.approx(0.0075)  # 1000 x 2.5 + 500 x 10, per million
    # 400 of the 1000 input tokens were cached: 600 x 2.5 + 400 x 1.25 + 500 x 10
    assert model.cost_usd(1000, 500, cached_input_tokens=400) == pytest.approx(0.007)

    no_cache_price = ModelConfig(provider="p", input_usd_per_mtok=2.5, output_usd_per_mtok=10.0)
    assert no_cache_price.cost_usd(1000, 500, cached_input_tokens=400) == pytest.approx(0.0075)

    free = ModelConfig(provider="p", input_usd_per_mtok=0.0, output_usd_per_mtok=0.0)
    assert free.cost_usd(10_000, 10_000) == 0.0


def test_cost_usd_refuses_impossible_counts() -> None:
    model = ModelConfig(provider="p", input_usd_per_mtok=2.5, output_usd_per_mtok=10.0)
    with pytest.raises(UsageError):
        model.cost_usd(-1, 0)
    with pytest.raises(UsageError, match="part of input_tokens"):
        model.cost_usd(100, 0, cached_input_tokens=101)


def test_a_provider_built_in_code_has_no_name_but_still_works() -> None:
    provider = ProviderConfig(kind="anthropic", api_key_env="MAIN_API_KEY")
    assert provider.base_url == ANTHROPIC_BASE_URL and provider.name == ""
    with pytest.raises(ConfigError, match="provider.api_key_env: environment variable MAIN_API_KEY is not set"):
        provider.api_key()


def test_the_example_in_the_docs_loads(tmp_path: Path) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "gateway.md").read_text()
    example = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    config = load(tmp_path, example)
    assert config.routes["redact"].pii == "local-only"
    assert config.providers["offline"].fixtures == tmp_path / "conf" / "fixtures" / "triage.json"


# -- the [cache] table and the semantic cache's route keys -----------------------------------------

REDIS_PASSWORD = "s3cret-redis-pw-DO-NOT-LEAK"
EMBEDDER = """
[models."text-embedding-3-small@2024-01-25"]
provider = "main"
input_usd_per_mtok = 0.02
output_usd_per_mtok = 0.0
"""
SEMANTIC = (
    PRICED
    + EMBEDDER
    + """
[routes.faq]
primary = "gpt-4o-2024-08-06"
cache_ttl_s = 600
semantic_threshold = 0.92
embedding_model = "text-embedding-3-small@2024-01-25"
"""
)


def test_the_cache_defaults_to_the_database(tmp_path: Path) -> None:
    cache = load(tmp_path, "").cache
    assert (cache.backend, cache.redis_url, cache.redis_url_env) == ("database", None, None)
    assert (cache.semantic_max_entries, cache.redis_timeout_s) == (1000, 0.5)


def test_a_redis_cache_and_a_semantic_route_load(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        SEMANTIC
        + '[cache]\nbackend = "redis"\nredis_url = "redis://cache.internal:6380/2"\nsemantic_max_entries = 200\n',
    )
    assert (config.cache.backend, config.cache.redis_url_value()) == ("redis", "redis://cache.internal:6380/2")
    assert config.cache.semantic_max_entries == 200
    faq = config.routes["faq"]
    assert (faq.semantic_threshold, faq.embedding_model, faq.cache_ttl_s) == (
        0.92,
        "text-embedding-3-small@2024-01-25",
        600.0,
    )
    assert config.routes["faq"].semantic_threshold is not None
    assert load(tmp_path, SEMANTIC.replace("0.92", "1")).routes["faq"].semantic_threshold == 1.0


@pytest.mark.parametrize("url", ["rediss://cache.internal:6380/0", "unix:///run/redis/redis.sock?db=1", "redis://u@h"])
def test_redis_url_schemes(tmp_path: Path, url: str) -> None:
    config = load(tmp_path, f'[cache]\nbackend = "redis"\nredis_url = "{url}"\n')
    assert config.cache.redis_url == url


REDIS = '[cache]\nbackend = "redis"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[cache]\nbackend = 'memcached'\n", "cache.backend: must be 'database' or 'redis'"),
        ("[cache]\nttl = 5\n", "cache.ttl: unknown key"),
        (REDIS, 'cache.redis_url: required with backend = "redis"'),
        (REDIS + "redis_url = 'http://cache:6379'\n", "cache.redis_url: must be a redis://, rediss:// or unix:// URL"),
        (REDIS + "redis_url = 'redis://'\n", "cache.redis_url: must name a host"),
        (REDIS + "redis_url = 'redis://h:port/0'\n", "cache.redis_url: is not a valid URL"),
        (REDIS + "redis_url = 'unix://'\n", "cache.redis_url: a unix:// URL needs the socket's path"),
        (REDIS + "redis_url = 6379\n", "cache.redis_url: must be a string"),
        (REDIS + "redis_url_env = 'redis://h'\n", "cache.redis_url_env: must be the name of an environment variable"),
        (
            REDIS + "redis_url = 'redis://h'\nredis_url_env = 'REDIS_URL'\n",
            "cache.redis_url_env: give either redis_url or redis_url_env, not both",
        ),
        ("[cache]\nredis_url = 'redis://h'\n", 'cache.redis_url: only used with backend = "redis"'),
        ("[cache]\nredis_url_env = 'REDIS_URL'\n", 'cache.redis_url_env: only used with backend = "redis"'),
        ("[cache]\nsemantic_max_entries = 0\n", "cache.semantic_max_entries: must be greater than 0"),
        ("[cache]\nsemantic_max_entries = 1.5\n", "cache.semantic_max_entries: must be an integer"),
        ("[cache]\nredis_timeout_s = 0\n", "cache.redis_timeout_s: must be greater than 0"),
        (SEMANTIC.replace("0.92", "0"), "routes.faq.semantic_threshold: must be greater than 0"),
        (SEMANTIC.replace("0.92", "1.5"), "routes.faq.semantic_threshold: must be less than or equal to 1"),
        (SEMANTIC.replace("0.92", "'high'"), "routes.faq.semantic_threshold: must be a number"),
        (
            SEMANTIC.replace('embedding_model = "text-embedding-3-small@2024-01-25"\n', ""),
            "routes.faq.embedding_model: required with semantic_threshold",
        ),
        (
            SEMANTIC.replace("semantic_threshold = 0.92\n", ""),
            "routes.faq.semantic_threshold: required with embedding_model",
        ),
        (SEMANTIC.replace("cache_ttl_s = 600\n", ""), "routes.faq.cache_ttl_s: required with the semantic cache"),
        (
            SEMANTIC.replace('embedding_model = "text-embedding-3-small@2024-01-25"', 'embedding_model = "emb-x@1"'),
            'routes.faq.embedding_model: unknown model "emb-x@1"',
        ),
        (
            SEMANTIC
            + CLAUDE.replace("claude-3-5-sonnet-20241022", "claude-embed@1")
            + "[routes.faq2]\nprimary = 'gpt-4o-2024-08-06'\ncache_ttl_s = 60\nsemantic_threshold = 0.9\nembedding_model = 'claude-embed@1'\n",
            'routes.faq2.embedding_model: model "claude-embed@1" is served by anthropic provider "claude", which has no '
            "embeddings API: use a model of an openai or scripted provider",
        ),
        (
            SEMANTIC.replace("http://127.0.0.1:8001/v1", "https://api.openai.com/v1").replace(
                'primary = "gpt-4o-2024-08-06"', 'primary = "llama3.1:8b"\npii = "local-only"'
            )
            + "[providers.local]\nkind = 'openai'\nbase_url = 'http://127.0.0.1:11434/v1'\n"
            + "[models.'llama3.1:8b']\nprovider = 'local'\ninput_usd_per_mtok = 0.0\noutput_usd_per_mtok = 0.0\n",
            'routes.faq.embedding_model: model "text-embedding-3-small@2024-01-25" is served by remote provider "main", '
            'but the route is pii = "local-only" (its requests are embedded too)',
        ),
    ],
)
def test_each_cache_mistake_names_its_key(tmp_path: Path, text: str, expected: str) -> None:
    err = error(tmp_path, text)
    assert err.message.startswith(expected), err.message
    assert err.details["key"] == expected.split(": ", 1)[0]
    assert_clean(err)


def test_a_local_only_route_may_embed_with_a_local_or_scripted_provider(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        PRICED
        + """
        [providers.offline]
        kind = "scripted"
        fixtures = "f.json"
        [models."hash-embed@1"]
        provider = "offline"
        input_usd_per_mtok = 0.0
        output_usd_per_mtok = 0.0
        [routes.faq]
        primary = "gpt-4o-2024-08-06"
        pii = "local-only"
        cache_ttl_s = 600
        semantic_threshold = 0.9
        embedding_model = "hash-embed@1"
        """,
    )
    assert config.routes["faq"].embedding_model == "hash-embed@1"


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0",
        f"rediss://default:{REDIS_PASSWORD}@cache.internal:6380",
        f"redis://cache.internal:6379/0?password={REDIS_PASSWORD}",
        f"unix:///run/redis.sock?password={REDIS_PASSWORD}",
        f"ftp://:{REDIS_PASSWORD}@cache.internal",
    ],
)
def test_a_password_in_redis_url_is_refused_without_repeating_it(tmp_path: Path, url: str) -> None:
    err = error(tmp_path, f'[cache]\nbackend = "redis"\nredis_url = "{url}"\n')
    assert err.details["key"] == "cache.redis_url"
    if not url.startswith("ftp"):
        assert "a password is not allowed in redis_url" in err.message
        assert "redis_url_env" in err.message
    assert REDIS_PASSWORD not in str(err) and REDIS_PASSWORD not in repr(err.details)
    assert_clean(err)


def test_redis_url_env_is_read_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(tmp_path, REDIS + 'redis_url_env = "KEEL_TEST_CACHE_URL"\n')
    monkeypatch.delenv("KEEL_TEST_CACHE_URL", raising=False)
    with pytest.raises(
        ConfigError, match="cache.redis_url_env: environment variable KEEL_TEST_CACHE_URL is not set"
    ) as unset:
        config.cache.redis_url_value()
    assert unset.value.details["key"] == "cache.redis_url_env"

    # A password is fine here: the variable is where it belongs.
    url = f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0"
    monkeypatch.setenv("KEEL_TEST_CACHE_URL", url)
    assert config.cache.redis_url_value() == url
    assert REDIS_PASSWORD not in repr(config) and REDIS_PASSWORD not in config.model_dump_json()

    monkeypatch.setenv("KEEL_TEST_CACHE_URL", f"http://:{REDIS_PASSWORD}@cache.internal")
    with pytest.raises(ConfigError) as bad:
        config.cache.redis_url_value()
    assert bad.value.message == (
        "cache.redis_url_env: the value of KEEL_TEST_CACHE_URL: must be a redis://, rediss:// or unix:// URL"
    )
    assert REDIS_PASSWORD not in str(bad.value)
