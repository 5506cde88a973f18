"""Input limits shared by the parser and the definition readers: a training utterance the parser would refuse is
refused when the skill is built, not silently learnt from."""

MAX_CHARS = 2000  # longer input is refused with InputError: no voice utterance is this long
