"""SMS to households (issue 14): an outbox in the household's language, sent by the ``sms.send`` background job
through a gateway adapter (a generic HTTP gateway, a file driver for development), with opt-out, consent for
claim outcomes, bounded retries with backoff and a daily cap."""
