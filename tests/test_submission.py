"""Uploads are found where students put them, or refused with what was expected."""

import os
import zipfile

import pytest

from keras_vae.graded import submission


def write(root, relative, text="x = 1\n"):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("relative", ["assignments/__init__.py", "__init__.py",
                                      "upload/assignments/__init__.py",
                                      "a/b/assignments/__init__.py"])
def test_the_file_is_found_at_the_top_or_a_few_folders_deep(tmp_path, relative):
    """assignments/__init__.py or a lone __init__.py, at the top or nested, is the submission."""
    expected = write(tmp_path, relative)
    assert submission.find(str(tmp_path)) == str(expected)


def test_a_misnamed_file_is_refused_with_what_was_expected(tmp_path):
    """A vae.py upload is told to rename the file, naming what was received."""
    write(tmp_path, "vae.py")
    with pytest.raises(submission.SubmissionError) as error:
        submission.find(str(tmp_path))
    assert str(error.value) == (
        "expected assignments/__init__.py (or the file __init__.py on its own), at the top of "
        "the upload; received vae.py. Rename your file to __init__.py (inside a folder named "
        "assignments) and upload it again.")


def test_two_candidates_are_refused(tmp_path):
    """Two assignments packages at the same depth are ambiguous."""
    write(tmp_path, "a/assignments/__init__.py")
    write(tmp_path, "b/assignments/__init__.py")
    with pytest.raises(submission.SubmissionError, match="received several"):
        submission.find(str(tmp_path))


def test_a_zip_is_unpacked_and_a_zip_slip_refused(tmp_path):
    """A zip of the package unpacks; a member with ../ in its path is refused."""
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("assignments/__init__.py", "x = 1\n")
    folder = submission.unpack(str(good), str(tmp_path / "good"))
    assert submission.find(folder).endswith(os.path.join("assignments", "__init__.py"))
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("../escape.py", "x = 1\n")
    with pytest.raises(submission.SubmissionError, match="outside itself"):
        submission.unpack(str(bad), str(tmp_path / "bad"))
