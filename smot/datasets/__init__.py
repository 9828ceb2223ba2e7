"""Dataset formats outside smot streams: MOTChallenge text files and the BenSMOT layout."""
