"""The settings of a training run: a frozen `TrainConfig`, saved as a run's `config.json`.

Its checks import nothing heavy, so the commands check their input before TensorFlow loads.
"""

import dataclasses

from keras_vae import checks, data, datafiles
from keras_vae.training.distribute import DISTRIBUTIONS
from keras_vae.impl import default_impl_name

LR_SCHEDULES = ("constant", "cosine")
# Fields a resumed run may change: how long it trains, how often it checkpoints, and on how many
# devices. Where it writes TensorBoard logs is not part of the run either.
RESUMABLE_CHANGES = ("num_epochs", "checkpoint_every_steps", "checkpoint_every_minutes",
                     "distribute", "tensorboard")
# Fields that do not change what is trained: where the run directory is, not what it holds.
NOT_COMPARED = ("out",)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; saved as `config.json` in the run directory."""

    dataset: str = "mnist"
    data_path: str | None = None
    likelihood: str = "bernoulli"
    sigma: float = 1.0
    beta: float = 1.0
    latent_dim: int = 16
    architecture: str = "mlp"
    hidden_units: tuple = (512,)
    activation: str = "relu"
    num_epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    binarize: str = "dynamic"
    seed: int = 0
    out: str = "runs/default"
    impl: str = dataclasses.field(default_factory=default_impl_name)
    validation_split: float = 0.1
    kl_warmup_epochs: int = 0
    lr_schedule: str = "constant"
    early_stopping: int = 0
    num_iw_samples: int = 100
    checkpoint_every_steps: int = 0
    checkpoint_every_minutes: float = 0.0
    # "auto" and None are resolved for the machine by `keras_vae.training.distribute.resolve`.
    distribute: str = "none"
    mixed_precision: bool | None = False
    tensorboard: bool = False

    def validate(self):
        """Raises `ValueError` naming the first invalid field; returns the config.

        Reads the headers of a data file (`keras_vae.datafiles.image_shapes`), not its images.
        """
        checks.choice("dataset", self.dataset, checks.DATASETS)
        checks.choice("likelihood", self.likelihood, checks.LIKELIHOODS)
        checks.positive_float("sigma", self.sigma)
        checks.non_negative_float("beta", self.beta)
        checks.positive_int("latent_dim", self.latent_dim)
        checks.choice("architecture", self.architecture, checks.ARCHITECTURES)
        checks.hidden_units(self.hidden_units)
        checks.activation("activation", self.activation)
        checks.positive_int("num_epochs", self.num_epochs)
        checks.positive_int("batch_size", self.batch_size)
        checks.positive_float("learning_rate", self.learning_rate)
        checks.choice("binarize", self.binarize, checks.BINARIZATIONS)
        checks.seed("seed", self.seed)
        if self.likelihood == "gaussian" and self.binarize != "none":
            raise checks.invalid("binarize", "'none' for the gaussian likelihood",
                                 self.binarize)
        if not 0.0 <= self.validation_split < 1.0:
            raise checks.invalid("validation_split", "a fraction in [0, 1)",
                                 self.validation_split)
        _non_negative_int("kl_warmup_epochs", self.kl_warmup_epochs)
        checks.choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _non_negative_int("early_stopping", self.early_stopping)
        checks.positive_int("num_iw_samples", self.num_iw_samples)
        _non_negative_int("checkpoint_every_steps", self.checkpoint_every_steps)
        checks.non_negative_float("checkpoint_every_minutes",
                                  self.checkpoint_every_minutes)
        checks.choice("distribute", self.distribute, ("auto",) + DISTRIBUTIONS)
        # The data file's headers: its shapes, and how many images a batch may take.
        shapes = datafiles.image_shapes(self.dataset, self.data_path)
        num_train = data.num_training_images(shapes["x_train"][0], self.validation_split)
        if self.batch_size > num_train:
            raise checks.invalid("batch_size", f"at most the {num_train} training images",
                                 self.batch_size)
        if not self.impl:
            raise checks.invalid("impl", "a module name", self.impl)
        checks.folder("out", self.out, "a folder for the run directory")
        return self

    @property
    def example_shape(self):
        return (28, 28, 1) if self.architecture == "conv" else (784,)

    @classmethod
    def from_dict(cls, raw):
        """The config of a `config.json`'s dict; keys it does not know are ignored."""
        fields = {field.name for field in dataclasses.fields(cls)}
        raw = {key: value for key, value in raw.items() if key in fields}
        if "hidden_units" in raw:
            raw["hidden_units"] = tuple(raw["hidden_units"])
        return cls(**raw)


def _non_negative_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise checks.invalid(name, "a non-negative integer (0: off)", value)
    return value


def differences(saved, config, finished):
    """The fields in which `config` differs from the `saved` config of a run directory.

    A finished run is the same run only if it trained as many epochs. A field left for the
    machine to choose (`distribute="auto"`, `mixed_precision=None`) matches any value.
    """
    ignored = set(NOT_COMPARED) | {name for name in RESUMABLE_CHANGES
                                   if not (finished and name == "num_epochs")}
    if "auto" in (config.distribute, saved.distribute):
        ignored.add("distribute")
    if None in (config.mixed_precision, saved.mixed_precision):
        ignored.add("mixed_precision")
    return sorted(field.name for field in dataclasses.fields(TrainConfig)
                  if field.name not in ignored
                  and getattr(saved, field.name) != getattr(config, field.name))
