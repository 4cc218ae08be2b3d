"""Regenerates every fixture: /usr/bin/python3 engine/src/test/python/gen_all.py"""
import os

from fixture_io import run_generators

run_generators(os.path.dirname(os.path.abspath(__file__)))
