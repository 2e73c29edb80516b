#!/usr/bin/env python3
"""Chat template fixtures: Jinja templates in the style of each family that
src/tokenizer/chat_template.cpp recognises (written for lightllm's tests, following the
families' published formats), rendered with transformers'
render_jinja_template for a few conversations. Writes
tests/data/chat_templates.json; the C++ formatter must reproduce every
rendering (or reject the conversation where the template raises).

Usage: python3 tests/reference/make_chat_template_fixtures.py [out.json] [templates.json]
(templates.json: optional list of {"name", "template", "bos", "eos"} to use instead)
"""
import json
import os
import sys

from transformers.utils.chat_template_utils import render_jinja_template

TEMPLATES = [
    {"name": "chatml-default-system", "bos": "<|endoftext|>", "eos": "<|im_end|>", "template":
     "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
     "{{ '<|im_start|>system\\nYou are a careful assistant.<|im_end|>\\n' }}{% endif %}"
     "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    {"name": "chatml-plain", "bos": "<s>", "eos": "<|im_end|>", "template":
     "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
     "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    {"name": "llama2", "bos": "<s>", "eos": "</s>", "template":
     "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set sys = messages[0]['content'] %}"
     "{% else %}{% set loop_messages = messages %}{% set sys = false %}{% endif %}"
     "{% for message in loop_messages %}"
     "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('roles must alternate') }}{% endif %}"
     "{% if loop.index0 == 0 and sys != false %}{% set content = '<<SYS>>\\n' + sys + '\\n<</SYS>>\\n\\n' + message['content'] %}"
     "{% else %}{% set content = message['content'] %}{% endif %}"
     "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
     "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"},
    {"name": "llama3", "bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "template":
     "{% for message in messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
     "message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
     "{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"},
    {"name": "llama3.1", "bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "template":
     "{{- bos_token }}{%- if not date_string is defined %}{%- set date_string = \"26 Jul 2024\" %}{%- endif %}"
     "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}"
     "{%- set messages = messages[1:] %}{%- else %}{%- set system_message = \"\" %}{%- endif %}"
     "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}{{- \"Cutting Knowledge Date: December 2023\\n\" }}"
     "{{- \"Today Date: \" + date_string + \"\\n\\n\" }}{{- system_message }}{{- \"<|eot_id|>\" }}"
     "{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
     "message['content'] | trim + '<|eot_id|>' }}{%- endfor %}"
     "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"},
    {"name": "mistral-v0.2", "bos": "<s>", "eos": "</s>", "template":
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
     "{{ raise_exception('roles must alternate') }}{% endif %}{% if message['role'] == 'user' %}"
     "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
     "{{ message['content'] + eos_token }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
     "{% endif %}{% endfor %}"},
    {"name": "mistral-v1", "bos": "<s>", "eos": "</s>", "template":
     "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}"
     "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}{{- bos_token }}"
     "{%- for message in loop_messages %}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
     "{{- raise_exception('roles must alternate') }}{%- endif %}{%- if message['role'] == 'user' %}"
     "{%- if loop.first and system_message is defined %}{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}"
     "{%- else %}{{- ' [INST] ' + message['content'] + ' [/INST]' }}{%- endif %}"
     "{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token}}{%- endif %}{%- endfor %}"},
    {"name": "mistral-v3", "bos": "<s>", "eos": "</s>", "template":
     "{%- if messages[0][\"role\"] == \"system\" %}{%- set system_message = messages[0][\"content\"] %}"
     "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}{{- bos_token }}"
     "{%- for message in loop_messages %}{%- if (message[\"role\"] == \"user\") != (loop.index0 % 2 == 0) %}"
     "{{- raise_exception(\"roles must alternate\") }}{%- endif %}{%- if message[\"role\"] == \"user\" %}"
     "{%- if loop.last and system_message is defined %}{{- \"[INST] \" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}"
     "{%- else %}{{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}{%- endif %}"
     "{%- elif message[\"role\"] == \"assistant\" %}{{- \" \" + message[\"content\"]|trim + eos_token}}{%- endif %}{%- endfor %}"},
    {"name": "mistral-v3-tekken", "bos": "<s>", "eos": "</s>", "template":
     "{%- if messages[0][\"role\"] == \"system\" %}{%- set system_message = messages[0][\"content\"] %}"
     "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}{{- bos_token }}"
     "{%- for message in loop_messages %}{%- if (message[\"role\"] == \"user\") != (loop.index0 % 2 == 0) %}"
     "{{- raise_exception(\"roles must alternate\") }}{%- endif %}{%- if message[\"role\"] == \"user\" %}"
     "{%- if loop.last and system_message is defined %}{{- \"[INST]\" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}"
     "{%- else %}{{- \"[INST]\" + message[\"content\"] + \"[/INST]\" }}{%- endif %}"
     "{%- elif message[\"role\"] == \"assistant\" %}{{- message[\"content\"] + eos_token}}{%- endif %}{%- endfor %}"},
    {"name": "phi3-mini", "bos": "<s>", "eos": "<|endoftext|>", "template":
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}"
     "{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n' + '<|assistant|>' + '\\n'}}"
     "{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\\n'}}{% endif %}{% endfor %}"},
    {"name": "phi3.5", "bos": "<s>", "eos": "<|endoftext|>", "template":
     "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}"
     "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}"
     "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}"
     "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
     "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"},
    {"name": "zephyr", "bos": "<s>", "eos": "</s>", "template":
     "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content'] + eos_token }}\n"
     "{% elif message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] + eos_token }}\n"
     "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n{% endif %}\n"
     "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"},
]

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "Answer in French. "}, {"role": "user", "content": "What is 2+2?"},
     {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?  "}],
    [{"role": "user", "content": "Gr\u00fc\u00dfe \u4f60\u597d \U0001F999\n  indented"}, {"role": "assistant", "content": " ok \n"},
     {"role": "user", "content": "  padded  "}],
    [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}],
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                                                "chat_templates.json")
    templates = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else TEMPLATES
    result = []
    for t in templates:
        cases = []
        for conv in CONVERSATIONS:
            for gen in (True, False):
                try:
                    text = render_jinja_template(conversations=[conv], chat_template=t["template"], add_generation_prompt=gen,
                                                 bos_token=t["bos"], eos_token=t["eos"])
                    text = text[0][0] if isinstance(text, tuple) else text
                    text = text[0] if isinstance(text, list) else text
                    cases.append({"messages": conv, "add_generation_prompt": gen, "expected": text})
                except Exception as e:  # the template rejects the conversation
                    cases.append({"messages": conv, "add_generation_prompt": gen, "error": str(e)})
        result.append(dict(t, cases=cases))
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
