"""`tunegate check`, the first stage: is the data ready to evaluate and train on?

It reads the task's rows (`tunegate.data`), counts tokens with the model's tokenizer
(`tunegate.models`) and times a few training steps (`tunegate.train`), so it sits above them;
decide and the report read its stored result. `run` runs it, `rules` grades, `readiness`
measures, `train_time` estimates.
"""
