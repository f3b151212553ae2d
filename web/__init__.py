"""The coordinators' workspace: a Telegram Mini App beside the chat (views, templates, a little JS and CSS)."""
