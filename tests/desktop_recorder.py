"""A stand-in for the OS file opener in window tests: records instead of launching a media player."""


class Recorder:
    def __init__(self):
        self.opened, self.revealed = [], []

    def open(self, path):
        self.opened.append(path)

    def reveal(self, path):
        self.revealed.append(path)
