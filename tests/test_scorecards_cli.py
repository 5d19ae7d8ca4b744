"""`surveyapp scorecards build`: every 所属's PNG and PDF plus a ZIP, on a few 所属."""

from __future__ import annotations

import shutil
import zipfile

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from surveyapp import migrations, store
from surveyapp.cli import cli
from surveyapp.demo import loader as demo
from surveyapp.services import accounts
from surveyapp.store import departments as department_store
from tests.conftest import QUESTIONNAIRES

KEPT = ("0101", "0102", "0302")  # the 所属 left in FY2021 so the build stays small
ROUND = 2


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """The demo with every 所属 but three ended before FY2021."""
    path = tmp_path_factory.mktemp("instance")
    database = store.connect(path / "surveyapp.sqlite3")
    migrations.apply(database)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                         parallelism=1))
        demo.load_demo(database, QUESTIONNAIRES)
    ended = [dict(row, valid_to=2020) for code, row in
             department_store.departments_by_code(database).items()
             if row["parent_code"] is not None and code not in KEPT]
    with store.transaction(database):
        department_store.upsert_departments(database, ended)
    database.close()
    return path


@pytest.fixture
def run(instance, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance))

    def invoke(*args):
        return CliRunner().invoke(cli, ["--instance", str(instance), *args])
    return invoke


def test_build_writes_a_png_and_a_pdf_per_department_and_a_zip(run, tmp_path):
    result = run("scorecards", "build", "--round", str(ROUND), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    pngs, pdfs = sorted(tmp_path.glob("*.png")), sorted(tmp_path.glob("*.pdf"))
    assert [p.name for p in pdfs] == ["0101_総務課.pdf", "0102_人事課.pdf", "0302_医務薬事課.pdf"]
    assert [p.stem for p in pngs] == [p.stem for p in pdfs]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    assert all(p.read_bytes().startswith(b"%PDF-") for p in pdfs)
    archive = tmp_path / f"scorecards_round{ROUND}_FY2021.zip"
    with zipfile.ZipFile(archive) as packed:
        assert sorted(packed.namelist()) == sorted(p.name for p in pngs + pdfs)
        assert packed.read("0302_医務薬事課.pdf") == (tmp_path / "0302_医務薬事課.pdf").read_bytes()
    assert "6 files" in result.output


def test_build_keeps_the_charts_for_the_next_build(run, instance, tmp_path):
    drop_chart_cache(instance)
    assert run("scorecards", "build", "--round", str(ROUND), "--out", str(tmp_path),
               "--format", "png").exit_code == 0
    assert len(list((instance / "cache" / "charts").glob("*.png"))) == len(KEPT)


def drop_chart_cache(instance) -> None:
    """So the next build draws every chart instead of copying cached ones."""
    shutil.rmtree(instance / "cache" / "charts", ignore_errors=True)


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_build_in_worker_processes_gives_the_same_files(run, instance, tmp_path, fmt):
    alone, workers = tmp_path / "alone", tmp_path / "workers"
    for out, jobs in ((alone, "1"), (workers, "2")):
        drop_chart_cache(instance)
        result = run("scorecards", "build", "--round", str(ROUND), "--out", str(out),
                     "--format", fmt, "--jobs", jobs)
        assert result.exit_code == 0, result.output
    built = {p.name: p.read_bytes() for p in alone.glob(f"*.{fmt}")}
    assert built and built == {p.name: p.read_bytes() for p in workers.glob(f"*.{fmt}")}
    other = {"png": "pdf", "pdf": "png"}[fmt]
    assert not list(workers.glob(f"*.{other}"))


def test_building_twice_gives_an_identical_zip(run, tmp_path):
    # Drawing is deterministic (tests/test_charts.py); this checks the archive itself.
    for out in ("a", "b"):
        assert run("scorecards", "build", "--round", str(ROUND), "--out",
                   str(tmp_path / out), "--format", "pdf").exit_code == 0
    name = f"scorecards_round{ROUND}_FY2021.zip"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_unknown_round_exits_1_with_one_line(run, tmp_path):
    result = run("scorecards", "build", "--round", "99", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "99" in result.output and len(result.output.strip().splitlines()) == 1


def test_unknown_format_exits_1(run, tmp_path):
    result = run("scorecards", "build", "--round", str(ROUND), "--out", str(tmp_path),
                 "--format", "gif")
    assert result.exit_code == 1 and "gif" in result.output


def test_a_build_keeps_its_small_font_and_needs_none_for_cached_pages(run, instance, tmp_path):
    fonts = instance / "cache" / "fonts"
    shutil.rmtree(fonts, ignore_errors=True)
    drop_chart_cache(instance)
    assert run("scorecards", "build", "--round", str(ROUND), "--out", str(tmp_path / "a"),
               "--format", "pdf").exit_code == 0
    assert len(list(fonts.glob("ipaexg-*.ttf"))) == 1
    shutil.rmtree(fonts)
    assert run("scorecards", "build", "--round", str(ROUND), "--out", str(tmp_path / "b"),
               "--format", "pdf").exit_code == 0  # every page is in the chart cache
    assert not fonts.exists()
