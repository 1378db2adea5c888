"""Fine-tune a named-entity tagger: config -> data -> model -> strategy -> train -> evaluate -> save.

    accelerate launch tasks/ner.py --config tasks/configs/ner.yaml strategy=lora
    python tasks/ner.py --config tasks/configs/ner.yaml epochs=1

The recipe is nlptransfer.recipe.run, shared with `nlptransfer train --task ner`.
"""
from nlptransfer.recipe import main

if __name__ == "__main__":
    main(task="ner")
