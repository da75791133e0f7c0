"""The complaint lifecycle as a pure model: no Flask, no MongoDB, no wall clock."""
