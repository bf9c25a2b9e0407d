"""The course's nbgrader autograder: configuration (nbgrader_config.py), operations (course.py) and a
command line (`python -m autograder --help`)."""
