"""The reference implementation's machinery around the paper: options, data, training loop,
checkpoints, learning-rate schedules, several GPUs, downloads, pretrained generators and the
HTML pages. It imports the paper's modules (``networks``, ``losses``, ``pool``, ``models``)
and nothing from the course."""
