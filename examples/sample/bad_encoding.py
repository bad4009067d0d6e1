def broken(:
    return "café"

def fine():
    return 1
