"""``python -m pyrec`` (also what DeepSpeed's launcher runs: ``deepspeed -m pyrec ...``)."""

from pyrec.cli import main

if __name__ == "__main__":
    main()
