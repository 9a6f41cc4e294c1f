"""The Personal Learning Record: achievements, enrolments, challenges, verification of learners."""
