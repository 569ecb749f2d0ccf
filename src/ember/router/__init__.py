"""Where an answer is computed: pure decisions over the request, the policy and local
signals. Nothing here sends anything anywhere, least of all to decide."""
