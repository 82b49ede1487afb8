"""results_table: the same aligned text under print, a real table in a notebook."""

from cyclegan_lib.course.plotting import results_table

ROWS = {"L1 only": {"accuracy": 0.5, "note": "<b>"}, "cGAN | L1": {"accuracy": 0.875}}


def test_text_is_aligned_with_floats_to_three_decimals():
    lines = str(results_table(ROWS, ["accuracy", "note"])).splitlines()
    assert lines[0].split() == ["run", "accuracy", "note"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split()[-2:] == ["0.500", "<b>"] and "0.875" in lines[3]


def test_html_and_markdown_have_one_row_per_run_and_escape_cells():
    table = results_table(ROWS, ["accuracy", "note"])
    html = table._repr_html_()
    assert html.count("<tr>") == 3 and "<th>accuracy</th>" in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    markdown = table._repr_markdown_().splitlines()
    assert markdown[0] == "| run | accuracy | note |" and len(markdown) == 4
    assert markdown[3].startswith("| cGAN \\| L1 | 0.875 |")
