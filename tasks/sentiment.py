"""Fine-tune a sentiment classifier: config -> data -> model -> strategy -> train -> evaluate -> save.

    accelerate launch tasks/sentiment.py --config tasks/configs/sentiment.yaml strategy=lora
    python tasks/sentiment.py --config tasks/configs/sentiment.yaml epochs=1

The recipe is nlptransfer.recipe.run, shared with `nlptransfer train` so the two never drift.
"""
from nlptransfer.recipe import main

if __name__ == "__main__":
    main(task="sentiment")
