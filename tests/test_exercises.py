import pytest
import torch

from cyclegan_lib.course.digits import scale_pixels
from cyclegan_lib.lessons.exercises import RESULTS, Case, Exercise, check, grade
from cyclegan_lib.lessons.exercises.lesson00 import SCALE_PIXELS
from cyclegan_lib.tools.grading.hidden_tests import lesson_exercises


def test_reference_passes_its_own_check(capsys):
    assert check(scale_pixels, SCALE_PIXELS) is scale_pixels
    assert "✅ scale_pixels" in capsys.readouterr().out
    assert RESULTS["scale_pixels"].status == "passed"


def test_not_done_falls_back_to_reference(capsys):
    def placeholder(images):
        raise NotImplementedError()

    assert check(placeholder, SCALE_PIXELS) is scale_pixels
    out = capsys.readouterr().out
    assert "not done yet" in out and "cyclegan_lib.course.digits.scale_pixels" in out


def test_wrong_answer_gets_specific_feedback(capsys):
    def uint8_arithmetic(images):  # a classic bug: no float conversion
        return images / 255

    assert check(uint8_arithmetic, SCALE_PIXELS) is scale_pixels
    out = capsys.readouterr().out
    assert "❌ scale_pixels: 0/2 cases passed" in out
    assert "pixels 0, 64, 128, 255" in out and "Hint:" in out and "expected" in out


def test_crash_is_reported_not_raised():
    def crashes(images):
        return images.no_such_method()

    outcome = grade(crashes, SCALE_PIXELS)
    assert outcome.status == "failed" and "AttributeError" in outcome.message


def test_shape_mismatch_is_described():
    outcome = grade(lambda images: scale_pixels(images).flatten(), SCALE_PIXELS)
    assert "shape" in outcome.message


def test_observe_compares_side_effects():
    def make_cases():
        return [Case((torch.nn.Linear(2, 1),), observe=lambda _, args: args[0].weight.detach())]

    def zero(layer):
        torch.nn.init.zeros_(layer.weight)

    def ones(layer):
        torch.nn.init.ones_(layer.weight)

    exercise = Exercise("init", zero, make_cases, hint="zeros")
    assert grade(zero, exercise).status == "passed"
    assert grade(ones, exercise).status == "failed"


def test_a_known_mistake_is_named_and_only_the_differing_entry_shown():
    def make_cases():
        return [Case((torch.tensor([1.0, 2.0]),))]

    def observe_all(values):
        return {"sum": values.sum(), "values": values}

    def doubled(values):
        return observe_all(2 * values)

    exercise = Exercise(
        "sum", observe_all, make_cases, hint="", mistakes={"the values are doubled": doubled}
    )
    message = grade(doubled, exercise).message
    assert "This is what happens when the values are doubled." in message
    assert "[3]" in message and "[6]" in message and "[1, 2]" not in message
    unknown = grade(lambda values: observe_all(-values), exercise).message
    assert "This is what happens" not in unknown


LESSONS = [f"{number:02d}" for number in range(7)]
ALL_EXERCISES = [
    (lesson, graded.exercise) for lesson in LESSONS for graded in lesson_exercises(lesson).values()
]


def test_every_lesson_has_exercises():
    assert {lesson for lesson, _ in ALL_EXERCISES} == set(LESSONS)


@pytest.mark.parametrize(("lesson", "exercise"), ALL_EXERCISES, ids=lambda e: getattr(e, "name", e))
def test_every_reference_passes_and_a_placeholder_falls_back_to_it(lesson, exercise):
    """Each exercise of each lesson: the reference solution passes its own check, and a
    learner's placeholder is graded 'not done' while the lesson continues with the reference."""
    assert grade(exercise.reference, exercise).status == "passed"

    def placeholder(*args, **kwargs):
        raise NotImplementedError()

    assert check(placeholder, exercise, quiet=True) is exercise.reference
    assert grade(placeholder, exercise).status == "not_done"
