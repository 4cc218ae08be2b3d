"""Regenerates every fixture and test image of the diffir module: /usr/bin/python3 app/src/test/python/gen_all.py"""
import glob
import os
import runpy

here = os.path.dirname(os.path.abspath(__file__))
for script in sorted(glob.glob(os.path.join(here, "gen_*.py"))):
    if os.path.basename(script) == "gen_all.py":
        continue
    print("running", os.path.basename(script))
    runpy.run_path(script, run_name="__main__")
