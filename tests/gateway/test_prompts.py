"""Versioned prompt templates: declaration, validation, sandboxing, hashing and the directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from keel.errors import ConfigError, UsageError
from keel.gateway.prompts import PROMPTS_ENV, PromptLibrary, PromptTemplate

TRIAGE = (
    '{# vars = { ticket = "str", max_words = "int", tags = "list[str]", meta = "dict[str, str]" } #}\n'
    "Summarise in at most {{ max_words }} words:\n"
    "{{ ticket }}\n"
    "Tags: {{ tags | join(', ') }}; team: {{ meta['team'] }}\n"
)
GOOD = {"ticket": "Printer on fire", "max_words": 20, "tags": ["hw", "urgent"], "meta": {"team": "ops"}}


def write(directory: Path, filename: str, text: str) -> Path:
    path = directory / filename
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def library(tmp_path: Path) -> PromptLibrary:
    write(tmp_path, "triage@1.j2", TRIAGE)
    write(tmp_path, "triage@2.j2", TRIAGE.replace("Summarise", "Condense"))
    write(tmp_path, "triage@10.j2", TRIAGE)
    write(tmp_path, "free@v1.j2", "Hello {{ who }}!\n")
    return PromptLibrary(tmp_path)


def test_render_with_declared_variables(library: PromptLibrary) -> None:
    template = library.get("triage", "1")
    assert template.variables == {
        "ticket": "str",
        "max_words": "int",
        "tags": "list[str]",
        "meta": "dict[str, str]",
    }
    rendered = template.render(GOOD)
    # The declaration line is gone and the file's trailing newline is dropped.
    assert rendered.text == "Summarise in at most 20 words:\nPrinter on fire\nTags: hw, urgent; team: ops"
    assert rendered.as_record() == {"name": "triage", "version": "1", "sha256": template.sha256}
    assert (rendered.name, rendered.version, rendered.sha256) == ("triage", "1", template.sha256)


def test_float_accepts_int_and_tuple_is_a_list(tmp_path: Path) -> None:
    template = PromptTemplate("t", "1", '{# vars = { x = "float", xs = "list[str]" } #}\n{{ x }} {{ xs[1] }}')
    assert template.render({"x": 2, "xs": ("a", "b")}).text == "2.0 b"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({k: v for k, v in GOOD.items() if k != "ticket"}, "ticket: missing (declared as str)"),
        ({**GOOD, "extra": "x"}, "extra: not declared by the template (it declares: ticket, max_words, tags, meta)"),
        ({**GOOD, "max_words": "20"}, "max_words: must be a valid integer (got str)"),
        ({**GOOD, "max_words": True}, "max_words: must be a valid integer (got bool)"),
        ({**GOOD, "tags": ["hw", 3]}, "tags[1]: must be a valid string (got int)"),
        ({**GOOD, "meta": {"team": 1}}, "meta['team']: must be a valid string (got int)"),
    ],
)
def test_each_validation_failure_names_the_variable(
    library: PromptLibrary, variables: dict[str, object], expected: str
) -> None:
    with pytest.raises(UsageError) as caught:
        library.get("triage", "1").render(variables)
    assert "prompt template triage@1" in caught.value.message
    assert caught.value.details["problems"] == [expected]
    assert caught.value.details["template"] == "triage@1"


def test_validation_error_never_echoes_a_value(library: PromptLibrary) -> None:
    with pytest.raises(UsageError) as caught:
        library.get("triage", "1").render({**GOOD, "max_words": "sk-secret-value"})
    assert "sk-secret-value" not in str(caught.value)


def test_several_problems_are_reported_together(library: PromptLibrary) -> None:
    with pytest.raises(UsageError) as caught:
        library.get("triage", "1").render({"ticket": 1, "other": "x"})
    assert caught.value.details["variables"] == ["max_words", "meta", "other", "tags", "ticket"]


def test_undeclared_template_takes_any_variables_but_refuses_missing(library: PromptLibrary) -> None:
    template = library.get("free", "v1")
    assert template.variables is None
    assert template.render({"who": "world", "unused": 1}).text == "Hello world!"
    with pytest.raises(UsageError, match="'who' is undefined"):
        template.render({})


def test_declared_template_using_an_undeclared_variable_is_a_config_error(tmp_path: Path) -> None:
    path = write(
        tmp_path, "bad@1.j2", '{# vars = { a = "str" } #}\n{{ a }} {{ b }}{% for i in [1] %}{{ i }}{% endfor %}'
    )
    with pytest.raises(ConfigError, match=r"does not declare on line 1: b$"):
        PromptLibrary(tmp_path).get("bad", "1")
    assert path.exists()


@pytest.mark.parametrize(
    ("first_line", "match"),
    [
        ('{# vars = { a = "bytes" } #}', "type 'bytes' is not one of str, int, float, bool"),
        ("{# vars = { a = str } #}", "not a TOML inline table"),
        ('{# vars = { a = "str",', "must be one line"),
        ('{# vars = { _a = "str" } #}', "variable name '_a'"),
    ],
)
def test_bad_declaration_is_a_config_error(tmp_path: Path, first_line: str, match: str) -> None:
    write(tmp_path, "decl@1.j2", first_line + "\n{{ a }}")
    with pytest.raises(ConfigError, match=match) as caught:
        PromptLibrary(tmp_path).get("decl", "1")
    assert "decl@1.j2: line 1" in caught.value.message


def test_versions_in_natural_order_and_unknown_version_lists_them(library: PromptLibrary) -> None:
    assert library.versions("triage") == ["1", "2", "10"]
    assert library.names() == ["free", "triage"]
    assert library.get("triage", "2").render(GOOD).text.startswith("Condense")
    with pytest.raises(ConfigError, match=r"no version '3' .*\(versions: 1, 2, 10\)") as caught:
        library.get("triage", "3")
    assert caught.value.details["available"] == ["1", "2", "10"]
    with pytest.raises(ConfigError, match=r"no prompt template named 'nope' .*\(templates: free, triage\)"):
        library.get("nope", "1")


def test_misnamed_file_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, "Triage@1.j2", "x")
    with pytest.raises(ConfigError, match=r"Triage@1\.j2: a prompt template file must be named NAME@VERSION"):
        PromptLibrary(tmp_path).versions("triage")


def test_template_is_loaded_once(library: PromptLibrary) -> None:
    assert library.get("triage", "1") is library.get("triage", "1")


def test_sha256_is_of_the_file_and_follows_its_content(tmp_path: Path) -> None:
    path = write(tmp_path, "free@1.j2", "Hello {{ who }}!\n")
    first = PromptLibrary(tmp_path).get("free", "1")
    assert first.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert PromptLibrary(tmp_path).get("free", "1").sha256 == first.sha256
    assert PromptLibrary(tmp_path).get("free", "1") == first

    write(tmp_path, "free@1.j2", "Hi {{ who }}!\n")
    changed = PromptLibrary(tmp_path).get("free", "1")
    assert changed.sha256 != first.sha256
    assert changed != first
    assert changed.render({"who": "x"}).as_record()["sha256"] == changed.sha256


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken@1.j2", '{# vars = { a = "str" } #}\nline two\n{% if a %}\n{{ a }\n')
    with pytest.raises(ConfigError) as caught:
        PromptLibrary(tmp_path).get("broken", "1")
    # Line 4 of the file, though the declaration line is not part of what Jinja compiles.
    assert caught.value.message.startswith(f"{path}: template syntax error at line 4: ")
    assert caught.value.details["line"] == 4


def test_syntax_error_line_without_declaration(tmp_path: Path) -> None:
    write(tmp_path, "broken@1.j2", "one\n{% for x in y %}\n")
    with pytest.raises(ConfigError, match=r"broken@1\.j2: template syntax error at line 2") as caught:
        PromptLibrary(tmp_path).get("broken", "1")
    assert caught.value.details["line"] == 2


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ who.__class__ }}",
        "{{ tags.append('x') }}",
        "{{ meta.update({'a': 'b'}) }}",
    ],
)
def test_sandbox_escapes_are_refused(payload: str) -> None:
    template = PromptTemplate("evil", "1", payload)
    tags = ["a"]
    meta = {"k": "v"}
    with pytest.raises(UsageError, match="refused by the sandbox: access to attribute"):
        template.render({"who": "x", "tags": tags, "meta": meta})
    assert tags == ["a"] and meta == {"k": "v"}


def test_internals_are_refused_by_the_sandbox_specifically() -> None:
    with pytest.raises(UsageError, match="refused by the sandbox: access to attribute '__class__'"):
        PromptTemplate("evil", "1", "{{ ''.__class__.__mro__ }}").render({})


def test_injection_in_a_variable_value_is_inert(library: PromptLibrary) -> None:
    payload = "{{ 7*7 }} {% for x in range(3) %}{{ x }}{% endfor %} {{ ''.__class__ }}"
    text = library.get("free", "v1").render({"who": payload}).text
    assert text == f"Hello {payload}!"
    assert "49" not in text


def test_no_autoescaping(library: PromptLibrary) -> None:
    assert library.get("free", "v1").render({"who": "<b>&'\""}).text == "Hello <b>&'\"!"


def test_bad_name_or_version_is_refused() -> None:
    with pytest.raises(ConfigError, match="name 'Bad'"):
        PromptTemplate("Bad", "1", "x")
    with pytest.raises(ConfigError, match="version '1/2'"):
        PromptTemplate("ok", "1/2", "x")


def test_from_env_uses_keel_prompts_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "free@1.j2", "Hello")
    monkeypatch.setenv(PROMPTS_ENV, str(tmp_path))
    library = PromptLibrary.from_env(default=tmp_path / "elsewhere")
    assert library is not None
    assert library.directory == tmp_path
    assert library.get("free", "1").render({}).text == "Hello"


def test_from_env_missing_explicit_dir_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROMPTS_ENV, str(tmp_path / "missing"))
    with pytest.raises(
        ConfigError, match=f"{PROMPTS_ENV}: prompt template directory .*missing does not exist"
    ) as caught:
        PromptLibrary.from_env()
    assert caught.value.details["key"] == PROMPTS_ENV


def test_from_env_default_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROMPTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert PromptLibrary.from_env() is None
    (tmp_path / "prompts").mkdir()
    write(tmp_path / "prompts", "free@1.j2", "Hi")
    library = PromptLibrary.from_env()
    assert library is not None
    assert library.directory == tmp_path / "prompts"
    assert library.versions("free") == ["1"]
