"""Guard: PII detection and redaction, prompt-injection detection, and the instruction hierarchy."""
