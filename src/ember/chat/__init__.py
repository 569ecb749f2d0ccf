"""The one chat path every front end uses: messages -> template -> engine -> events."""
