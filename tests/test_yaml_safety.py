"""Loading YAML safely: no code runs, no blow-ups, and every mistake names its line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from allocator.scenario import ScenarioError, load_scenario
from allocator.scenario.yaml_io import MAX_DEPTH, load_yaml_text
from tests.test_validation import SPEC_EXAMPLE


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(p) for p in info.value.problems]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- tags that would run code ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "value"),
    [
        ("scalar", "!!python/object/apply:os.system 'touch {marker}'"),
        ("sequence", "!!python/object/apply:os.system ['touch {marker}']"),
        ("mapping", "!!python/object/apply:os.system\n    args: ['touch {marker}']"),
        ("new", "!!python/object/new:os.system ['touch {marker}']"),
        ("name", "!!python/name:os.system"),
    ],
)
def test_python_tags_never_run_and_name_their_line(tmp_path, form, value):
    marker = tmp_path / "ran"
    text = SPEC_EXAMPLE.replace("description: FY2027 annual plan, base case", "description: " + value.format(marker=marker))
    path = write(tmp_path, text)
    tag = value.split()[0]
    assert problems(path) == [
        f"{path}:2 description: unsupported YAML tag `{tag}`; only plain values, lists and mappings are allowed"
    ]
    assert not marker.exists()


def test_a_python_tag_on_the_whole_document_never_runs(tmp_path):
    marker = tmp_path / "ran"
    path = write(tmp_path, f"# hello\n!!python/object/apply:os.system ['touch {marker}']\n")
    assert problems(path) == [
        f"{path}:2: unsupported YAML tag `!!python/object/apply:os.system`; only plain values, lists and mappings are allowed"
    ]
    assert not marker.exists()


@pytest.mark.parametrize("value", ["!!set {a, b}", "!!binary aGVsbG8=", "!foo bar", "!!timestamp 2027-01-01"])
def test_other_tags_are_errors(tmp_path, value):
    path = write(tmp_path, SPEC_EXAMPLE.replace("currency: CNY", f"currency: {value}"))
    tag = value.split()[0]
    assert problems(path) == [f"{path}:3 currency: unsupported YAML tag `{tag}`; only plain values, lists and mappings are allowed"]


def test_a_plain_tag_that_cannot_be_read_is_an_error_not_a_crash(tmp_path):
    path = write(tmp_path, SPEC_EXAMPLE.replace("hire_cost: 40k", "hire_cost: !!int forty"))
    assert problems(path) == [f"{path}:45 sales_force.hire_cost: cannot read 'forty' as !!int"]


# --- documents that blow up -----------------------------------------------------------------


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_rejected_without_expanding_it(tmp_path):
    """9 levels of 9 aliases is 9**10 values once expanded: this only completes if nothing expands it."""
    path = write(tmp_path, billion_laughs())
    assert problems(path) == [
        f"{path}:6: more than 200000 values once aliases are expanded (an alias bomb?); refusing to load"
    ]


def test_an_alias_bomb_inside_a_section_is_rejected(tmp_path):
    bomb = billion_laughs().replace("a0:", "x0:").replace("\na", "\nx")
    path = write(tmp_path, bomb + SPEC_EXAMPLE.replace("regions:\n", "regions: *a9\nold_regions:\n"))
    assert problems(path)[0].endswith("refusing to load")


def test_a_recursive_alias_is_rejected(tmp_path):
    path = write(tmp_path, "scenario: x\nloop: &loop [*loop]\n")
    assert problems(path)[0].endswith("refusing to load")


def test_aliases_and_merge_keys_used_sensibly_load(tmp_path):
    text = SPEC_EXAMPLE.replace(
        "  - region: west\n    channel: partner\n    base: 1M\n",
        "  - region: west\n    channel: partner\n    base: 1M\n    spend: {<<: *bounds, max: 3M}\n",
    ).replace("spend: {min: 0, max: 12M}", "spend: &bounds {min: 0, max: 12M}")
    s = load_scenario(write(tmp_path, text))
    assert (s.response[1].spend.min, s.response[1].spend.max) == (0, 3e6)  # own key overrides the merged one


def test_deep_nesting_is_an_error_not_a_crash(tmp_path):
    """Composing deeply nested YAML recurses (the C loader can even crash the interpreter), so
    depth is checked first. Run in a child process so that a regression cannot take pytest down.

    The behaviour is asserted, not the words: depending on the PyYAML release, our own depth
    check or PyYAML's parser stops the file first, and each says it in its own way. Either way it
    is one problem naming the file and line 2, exit 2, and no traceback. The timeout only keeps a
    hang from stalling the suite; it measures nothing."""
    path = write(tmp_path, "scenario: x\nnested: " + "[" * 100_000 + "]" * 100_000 + "\n")
    code = "import sys; from allocator.cli import main; sys.argv = ['allocator', 'validate', sys.argv[1]]; main()"
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (problem,) = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert problem.startswith(f"{path}:2: "), problem


def test_our_depth_check_names_the_line_where_nesting_passes_the_limit(tmp_path):
    """Just past our limit (far below any parser's), the message is ours."""
    depth = MAX_DEPTH + 5
    path = write(tmp_path, "scenario: x\nnested: " + "[" * depth + "]" * depth + "\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:2: ")
    assert f"nested more than {MAX_DEPTH} levels deep" in problem


def test_nesting_through_aliases_is_an_error(tmp_path):
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 2 * MAX_DEPTH)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert "nested more than" in problems(path)[0]


# --- keys, syntax, shape --------------------------------------------------------------------


def test_duplicate_keys_are_an_error_naming_both_lines(tmp_path):
    path = write(tmp_path, SPEC_EXAMPLE.replace("  reserve: {min: 5%, max: 8%}", "  reserve: {min: 5%, max: 8%}\n  total: 35M"))
    assert problems(path) == [f"{path}:12 budget.total: duplicate key (first on line 10)"]


def test_duplicate_keys_in_a_flow_mapping_are_an_error(tmp_path):
    path = write(tmp_path, SPEC_EXAMPLE.replace("{id: north, class: growth,", "{id: north, id: south, class: growth,"))
    assert problems(path) == [f"{path}:19 regions[1].id: duplicate key (first on line 19)"]


def test_a_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, SPEC_EXAMPLE.replace("reserve: {min: 5%, max: 8%}", "reserve: {min: 5%, max: 8%"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:13: YAML syntax error: ")
    assert "on line 11" in problem  # where the unclosed mapping began


def test_a_bad_indent_names_its_line(tmp_path):
    path = write(tmp_path, SPEC_EXAMPLE.replace("currency: CNY", "  currency: CNY"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:3: YAML syntax error: ")


def test_two_documents_in_one_file_are_an_error(tmp_path):
    path = write(tmp_path, SPEC_EXAMPLE + "---\nscenario: other\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:68: YAML syntax error: ")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_an_empty_file_is_an_error(tmp_path, text):
    path = write(tmp_path, text)
    assert problems(path) == [f"{path}:1: file is empty"]


@pytest.mark.parametrize(
    ("text", "got"), [("- scenario: x\n- budget: 1M\n", "a list"), ("just words\n", "'just words'"), ("~\n", "nothing")]
)
def test_a_file_that_is_not_a_mapping_is_an_error(tmp_path, text, got):
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:1: a scenario must be a mapping of sections such as `scenario:` and `budget:` (got {got})"
    ]


def test_a_missing_file_is_an_error(tmp_path):
    assert problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: file not found"]


def test_a_folder_is_not_a_scenario(tmp_path):
    assert problems(tmp_path) == [f"{tmp_path}: is a folder, not a file"]


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("scenario: x\ndescription: caf\xe9\n".encode("latin-1"))
    assert problems(path) == [f"{path}:2: is not UTF-8 text; save it as UTF-8"]


def test_keys_must_be_plain_names(tmp_path):
    path = write(tmp_path, SPEC_EXAMPLE.replace("currency: CNY", "[a, b]: CNY"))
    assert problems(path) == [f"{path}:3: keys must be plain names"]


# --- YAML 1.1 surprises ---------------------------------------------------------------------


def test_yaml_11_booleans_and_dates_stay_text():
    data = load_yaml_text("a: no\nb: On\nc: 2027-01-01\nd: true\ne: FALSE\n", "x.yaml")
    assert data == {"a": "no", "b": "On", "c": "2027-01-01", "d": True, "e": False}


def test_yaml_11_octal_and_base_60_numbers_stay_text():
    data = load_yaml_text("a: 010\nb: 1:30\nc: 0x1F\nd: 30_000_000\ne: 3e7\nf: .nan\ng: 12\n", "x.yaml")
    assert data["a"] == "010" and data["b"] == "1:30" and data["c"] == "0x1F"
    assert data["d"] == 30_000_000 and data["e"] == "3e7" and data["f"] != data["f"] and data["g"] == 12


def test_a_region_called_no_is_a_region(tmp_path):
    """YAML 1.1 reads ``no`` as false (the "Norway problem")."""
    text = SPEC_EXAMPLE.replace("{id: north,", "{id: no,").replace("north: 8", "no: 8")
    s = load_scenario(write(tmp_path, text))
    assert s.regions[1].id == "no"
    assert s.sales_force.current["no"] == 8


def test_values_carry_their_lines():
    data = load_yaml_text("a:\n  b: [1,\n    2]\nc: x\n", "x.yaml")
    assert data.lines["a"] == ("x.yaml", 1)
    assert data["a"].lines["b"] == ("x.yaml", 2)
    assert data["a"]["b"].lines == [("x.yaml", 2), ("x.yaml", 3)]
    assert data.lines["c"] == ("x.yaml", 4)
