"""A release's secret seed, read from its grading_seed file or its autograder.zip."""

import zipfile

import pytest

from keras_vae.graded import seed_file


def test_the_seed_is_read_from_the_file_or_the_zip(tmp_path):
    (tmp_path / "grading_seed").write_text("123456789\n")
    with zipfile.ZipFile(tmp_path / "autograder.zip", "w") as archive:
        archive.writestr(seed_file.ZIPPED, "987654321\n")
    assert seed_file.read_seed(str(tmp_path / "grading_seed")) == 123456789
    assert seed_file.read_seed(str(tmp_path / "autograder.zip")) == 987654321


@pytest.mark.parametrize("content", [None, "not a seed\n", b"PK\x03\x04 broken", "zip"])
def test_a_file_without_a_seed_is_a_value_error_naming_the_flag(tmp_path, content):
    path = tmp_path / "seed"
    if content == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("setup.sh", "")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=r"^Invalid value for `--seed-file`: expected the "
                                         r"grading_seed file or the autograder.zip of a release"):
        seed_file.read_seed(str(path))
