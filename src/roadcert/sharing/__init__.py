"""What a holder discloses: 亮证 codes for the moment and time-limited grants to named parties."""
