"""`spacy package --code` imports each runtime module on its own (spacy.util.import_file,
outside sys.modules) before copying it into the wheel; every module must survive that."""

import pytest
from spacy.util import import_file

from scripts.package_pipeline import runtime_modules
from tests.conftest import ROOT


def test_every_runtime_module_is_shipped():
    shipped = {p.name for p in runtime_modules()}
    on_disk = {p.name for p in (ROOT / "pt_legal_ner").glob("*.py")} - {"__init__.py"}
    assert shipped == on_disk


@pytest.mark.parametrize("path", runtime_modules(), ids=lambda p: p.name)
def test_module_imports_the_way_spacy_package_does(path):
    import_file(path.stem, path)
