"""cyclegan_lib: the small library behind the *CycleGAN from Scratch* course.

Each lesson builds a component by hand, checks it against the version kept here,
then imports this version for the rest of the course.
"""

__version__ = "0.1.0"
