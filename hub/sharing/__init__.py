"""Sharing: data sharing agreements, learners' choices (consent), the policy, partners' feeds."""
