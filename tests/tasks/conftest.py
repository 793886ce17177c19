from tests.llm.conftest import llama_server, model_settings, tiny, tiny_model_path  # noqa: F401  (shared fixtures)
