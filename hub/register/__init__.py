"""The Learner Register: ULNs, matching and its blocking keys, registration, updates, linking."""
