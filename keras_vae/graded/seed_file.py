"""Reads the secret grading seed of a release for a class grading (`grade --seed-file`).

`python -m keras_vae.release --out DIR` writes the seed twice: in `DIR/autograder.zip`, as
`keras_vae/graded/grading_seed`, and in `DIR/grading_seed`, readable by the instructor alone.
"""

import zipfile

from keras_vae import checks

ZIPPED = "keras_vae/graded/grading_seed"


def read_seed(path):
    """The secret seed of a release from its `grading_seed` file or its `autograder.zip`.

    Raises:
        ValueError: naming `--seed-file`, where `path` holds no seed.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                text = archive.read(ZIPPED).decode()
        else:
            with open(path) as file:
                text = file.read(100)
        return int(text.strip())
    except (OSError, KeyError, ValueError, UnicodeDecodeError) as error:
        raise checks.invalid("--seed-file", "the grading_seed file or the autograder.zip of a "
                             "release", path, f"which holds no seed ({error})") from None
