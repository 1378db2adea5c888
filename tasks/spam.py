"""Fine-tune a spam classifier: config -> data -> model -> strategy -> train -> evaluate -> save.

    accelerate launch tasks/spam.py --config tasks/configs/spam.yaml strategy=lora
    python tasks/spam.py --config tasks/configs/spam.yaml epochs=1

The recipe is nlptransfer.recipe.run, shared with `nlptransfer train` so the two never drift.
"""
from nlptransfer.recipe import main

if __name__ == "__main__":
    main(task="spam")
