"""agents: baselines, prompted LLM agents on several backends, the rollout harness and trainers."""
