-- ClientTokens are forgotten after a day (Settings.client_token_keep): purge by claim time.
CREATE INDEX client_tokens_created_at ON client_tokens (created_at);
