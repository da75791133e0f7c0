"""The web edge: what the API and the care console share (request plumbing, problem+json,
bearer tokens, languages, rate limits, headers, sending files), and the app factory that
composes them (`resolution.web.app.create_app`)."""
