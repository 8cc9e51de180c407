"""spacy-llm's registries, without importing spacy-llm.

Our models, tasks and cache register here at import; spacy-llm itself is imported only when
spaCy builds an `llm` component (its `spacy_factories` entry point), so a pipeline loaded with
`exclude=["llm_fallback"]` never imports it. spacy-llm creates these registries with the same
guard, so whichever is imported first creates them and both use the same ones.
"""

from spacy.util import registry

for _name in ("llm_models", "llm_tasks", "llm_misc", "llm_queries"):
    if _name not in registry.get_registry_names():
        registry.create(_name, entry_points=True)

__all__ = ["registry"]
