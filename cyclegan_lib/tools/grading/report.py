"""The grade report: per learner and per exercise, as CSV, JSON, one HTML page for the class
(``templates/grades.html``) and a printed table."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cyclegan_lib.pipeline.templates import render

CSV_COLUMNS = [
    "learner",
    "lesson",
    "exercise",
    "score",
    "max_score",
    "status",
    "passed",
    "total",
    "visible",
    "hidden",
    "feedback",
]


@dataclass
class ExerciseGrade:
    """One exercise of one submission; ``score`` is the fraction of its cases that pass."""

    exercise: str
    status: str
    passed: int
    total: int
    feedback: str
    visible: str = ""
    hidden: str = ""

    @property
    def score(self) -> float:
        return round(self.passed / self.total, 3) if self.total else 0.0


@dataclass
class SubmissionGrade:
    """One learner's notebook: its exercises and what went wrong with the run, if anything."""

    learner: str
    file: str
    lesson: str
    exercises: list[ExerciseGrade] = field(default_factory=list)
    problem: str = ""
    seconds: float = 0.0
    peak_memory_mib: float = 0.0
    digest: str = ""
    """SHA-256 of the graded file: a rerun keeps this grade while the file is unchanged."""
    log: str = ""

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 3)

    @property
    def max_score(self) -> int:
        return len(self.exercises)

    @classmethod
    def from_dict(cls, record: dict, log: str = "") -> SubmissionGrade:
        """Undo :meth:`to_dict` (the log is kept apart, in ``logs/``)."""
        fields = {k: v for k, v in record.items() if k not in ("exercises", "score", "max_score")}
        exercises = [
            ExerciseGrade(**{k: v for k, v in e.items() if k != "score"})
            for e in record["exercises"]
        ]
        return cls(**fields, exercises=exercises, log=log)

    def to_dict(self) -> dict:
        record = {k: v for k, v in asdict(self).items() if k not in ("exercises", "log")}
        record.update(score=self.score, max_score=self.max_score)
        record["exercises"] = [asdict(e) | {"score": e.score} for e in self.exercises]
        return record


def csv_rows(grades: list[SubmissionGrade]) -> list[dict]:
    """One row per learner and exercise; a submission with no exercise gets one row."""
    rows = []
    for g in grades:
        for e in g.exercises or [None]:
            rows.append(
                {
                    "learner": g.learner,
                    "lesson": g.lesson,
                    "exercise": e.exercise if e else "",
                    "score": e.score if e else 0.0,
                    "max_score": 1 if e else 0,
                    "status": e.status if e else "error",
                    "passed": e.passed if e else 0,
                    "total": e.total if e else 0,
                    "visible": e.visible if e else "",
                    "hidden": e.hidden if e else "",
                    "feedback": e.feedback if e else g.problem,
                }
            )
    return rows


def write_reports(grades: list[SubmissionGrade], out: Path, logs: bool = True) -> list[Path]:
    """Write ``grades.csv``, ``grades.json`` and (with ``logs``) each learner's captured output
    under ``out``.

    Every file is replaced atomically (written aside, then renamed), so a grader killed at
    any moment leaves the previous complete report, never half of one.
    """
    out.mkdir(parents=True, exist_ok=True)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(csv_rows(grades))
    for g in grades if logs else []:
        write_log(out, g)
    _replace(out / "grades.csv", text.getvalue())
    _replace(out / "grades.html", html_report(grades))
    _replace(out / "grades.json", json.dumps([g.to_dict() for g in grades], indent=2))
    return [out / "grades.csv", out / "grades.json", out / "grades.html", out / "logs"]


def write_log(out: Path, grade: SubmissionGrade) -> None:
    """``<out>/logs/<learner>.txt``: what the learner's notebook printed (capped)."""
    (out / "logs").mkdir(parents=True, exist_ok=True)
    _replace(log_file(out, grade.learner), grade.log)


def log_file(out: Path, learner: str) -> Path:
    """``<out>/logs/<learner>.txt``, with ``/`` in the learner's name as ``__``."""
    return out / "logs" / f"{learner.replace('/', '__')}.txt"


def _replace(path: Path, text: str) -> None:
    """Write ``text`` next to ``path``, then rename it over ``path`` (atomic on one filesystem)."""
    aside = path.with_name(f".{path.name}.tmp")
    aside.write_text(text, encoding="utf-8", newline="")
    os.replace(aside, path)


def html_report(grades: list[SubmissionGrade]) -> str:
    """The class on one page: a learner x exercise score table, then each learner's exercises
    with their cases and feedback (every text escaped, so feedback shows as written)."""
    learners = []
    for g in grades:
        record = g.to_dict()
        record["by_name"] = {e["exercise"]: e for e in record["exercises"]}
        learners.append(record)
    exercises = list(dict.fromkeys(e.exercise for g in grades for e in g.exercises))
    return render(
        "grades.html",
        title="Grades",
        learners=learners,
        exercises=exercises,
        mean=sum(g.score for g in grades) / len(grades) if grades else 0.0,
        broken=sum(bool(g.problem) for g in grades),
    )


def summary_table(grades: list[SubmissionGrade]) -> str:
    """A plain-text table: one line per learner, total score and a short reason when broken."""
    header = ("learner", "lesson", "score", "exercises", "note")
    rows = [header]
    for g in grades:
        exercises = ", ".join(f"{e.exercise} {e.score:g} ({e.status})" for e in g.exercises)
        note = g.problem.splitlines()[0] if g.problem else ""
        rows.append((g.learner, g.lesson, f"{g.score:g}/{g.max_score}", exercises, note[:70]))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(lines)
