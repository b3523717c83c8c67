# homelab.k3s developer and quick-start entry points.
#   make site   set everything up, start the local lab and run playbooks/site.yml on it
#   make test   the whole test suite (what CI runs through .ci/run)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
LAB := $(PYTHON) lab/lab.py
LAB_NODES ?= 3
LAB_SERVERS ?= 1
INVENTORY := inventories/lab/hosts.yml
DEB_PACKAGES := systemd-container mmdebstrap apt-cacher-ng qemu-system-x86 qemu-utils \
	e2fsprogs iproute2 openssh-client sshpass rsync git python3-venv curl bzip2 etcd-server
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help deps venv collection-link lab-up lab-down lab-status site lint sanity unit \
	build-check molecule test clean

help:
	@sed -n 's/^#   //p' Makefile

deps:  ## Debian packages the lab and the tests need (installed only when missing)
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

collection-link:
	@mkdir -p .cache/collections/ansible_collections/homelab
	@[ -L .cache/collections/ansible_collections/homelab/k3s ] || \
		ln -s $(CURDIR) .cache/collections/ansible_collections/homelab/k3s

# The lab cannot download K3s: its nodes run the K3s stand-in (tests/standins/k3s_standin,
# NOT K3s) from a local mirror, with the stand-in's Python library bound in.
STANDIN := .cache/k3s-standin
STANDIN_VERSION := v1.34.2+k3s1

$(STANDIN)/.built: tests/standins/k3s_standin/build_mirror.py tests/standins/k3s_standin/requirements.txt
	$(VENV)/bin/python tests/standins/k3s_standin/build_mirror.py --out $(STANDIN) --version=$(STANDIN_VERSION)
	touch $@

lab-up: deps venv collection-link $(STANDIN)/.built
	$(LAB) up --lab lab --nodes $(LAB_NODES) --servers $(LAB_SERVERS) --inventory $(INVENTORY) \
		--bind-ro $(CURDIR)/tests/standins:/opt/k3s-standin/src --bind-ro $(CURDIR)/$(STANDIN)/pylib:/opt/k3s-standin/pylib \
		--bind-ro /usr/bin/etcd:/opt/k3s-standin/bin/etcd

lab-down:
	$(LAB) down --lab lab

lab-status:
	$(LAB) status

site: deps venv lab-up  ## quick start: lab + playbooks/site.yml
	ansible-playbook -i $(INVENTORY) playbooks/site.yml

lint: venv
	yamllint .
	ansible-lint

sanity: venv
	bash tests/runners/sanity.sh

unit: venv collection-link
	pytest

build-check: venv
	bash tests/runners/build_check.sh

molecule: deps venv collection-link
	bash tests/runners/molecule.sh

test: deps venv collection-link
	bash tests/runners/run_suite.sh

clean: lab-down
	rm -rf .cache/build .cache/sanity tests/output
