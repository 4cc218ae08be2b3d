"""Regenerates every fixture and test image of the diffir module: /usr/bin/python3 app/src/test/python/gen_all.py"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "engine", "src", "test", "python")))
from fixture_io import run_generators  # noqa: E402

run_generators(HERE)
