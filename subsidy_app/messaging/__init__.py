"""SMS gateway, one-time codes and resident notifications."""
