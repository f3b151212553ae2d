"""Use cases: the rules about families, concerns and requests, reached from chat, jobs and web views alike."""
