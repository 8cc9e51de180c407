"""`spacy package --code` imports each runtime module on its own (spacy.util.import_file,
outside sys.modules) before copying it into the wheel; every module must survive that."""

import json
import subprocess
import sys

from scripts.packaging.package_pipeline import NOT_IMPORTED, runtime_modules
from tests.conftest import ROOT

# in a subprocess, as `spacy package` does it: the duplicate modules it creates re-register
# the components and models, which would leak into the other tests of this process
IMPORT_ALL = """
import json, sys, traceback
from pathlib import Path
from spacy.util import import_file
failed = {}
for path in map(Path, sys.argv[1:]):
    try:
        import_file(path.stem, path)
    except Exception:
        failed[path.name] = traceback.format_exc(limit=3)
print(json.dumps(failed))
"""


def test_every_runtime_module_is_shipped():
    shipped = {p.name for p in runtime_modules()}
    on_disk = {p.name for p in (ROOT / "pt_legal_ner").glob("*.py")} - NOT_IMPORTED
    assert shipped == on_disk


def test_modules_import_the_way_spacy_package_does():
    paths = [str(p) for p in runtime_modules()]
    result = subprocess.run([sys.executable, "-c", IMPORT_ALL, *paths], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    failed = json.loads(result.stdout.strip().splitlines()[-1])
    assert failed == {}, "\n".join(f"{name}:\n{tb}" for name, tb in failed.items())
