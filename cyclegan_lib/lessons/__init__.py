"""Helpers that exist for one lesson or two: the MNIST GANs of lessons 01-02 and their
training loop, the 2-D toy GAN, the digit translation recipes of lessons 03-04 and the
full-scale tools of lesson 05. They build on the paper, the pipeline and the course."""
