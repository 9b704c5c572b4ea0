"""The reference solution of the graded contract: the layers, losses and models students mirror
in `assignments/`. The student bundle leaves this folder out."""
