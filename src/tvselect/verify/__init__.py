"""tvselect verify: running the payload in the checked interpreter, reading its observations,
judging them with the engine's rules; its messages (templates and Reason) are in messages.py. Imports the engine and everything below it; `payload.py`
imports nothing but the standard library (it runs in the checked interpreter).
"""
