"""The spacy-llm fallback: the task (prompts and parsing), the models (Ollama, OpenAI-compatible,
their shared chat protocol), the merge policies, the answer cache, the registry.

Importing it registers them; none of them imports spacy-llm itself (``registry.py`` says why).
"""

from pt_legal_ner.llm import cache, chat, fallback, merge, ollama, openai, prompt, registry  # noqa: F401
